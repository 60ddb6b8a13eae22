package io.guestflow.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * jobId → one status byte, in 17 bytes a slot: the first 128 bits of the
 * id's SHA-256 (two longs) and the status, open addressing with linear
 * probing, at most 70 % full. A million ids take 36 MB at most (2^21 slots),
 * whatever the ids' length; two ids share a slot only if their SHA-256
 * prefixes collide (about 1 in 10^26 for a million ids). Not thread-safe:
 * {@link ResultIndex} guards it.
 */
final class JobIdTable {
    private static final double MAX_LOAD = 0.7;
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    private long[] hi;
    private long[] lo;
    /** 0: empty slot. */
    private byte[] status;
    private int size;
    private int mask;

    JobIdTable(int initialCapacity) {
        int cap = Integer.highestOneBit(Math.max(16, initialCapacity) * 2 - 1);
        allocate(cap);
    }

    private void allocate(int cap) {
        hi = new long[cap];
        lo = new long[cap];
        status = new byte[cap];
        mask = cap - 1;
    }

    /** The id's key: 128 bits of its SHA-256. */
    static long[] key(String jobId) {
        return key(jobId.getBytes(StandardCharsets.UTF_8));
    }

    static long[] key(byte[] utf8) {
        MessageDigest md = SHA256.get();
        ByteBuffer b = ByteBuffer.wrap(md.digest(utf8));
        return new long[] {b.getLong(), b.getLong()};
    }

    int size() {
        return size;
    }

    /** Bytes held by the table's arrays. */
    long memoryBytes() {
        return (long) status.length * (8 + 8 + 1);
    }

    /** The status stored for the key, 0 when none. */
    byte get(long[] k) {
        int i = slot(k);
        while (status[i] != 0) {
            if (hi[i] == k[0] && lo[i] == k[1]) {
                return status[i];
            }
            i = (i + 1) & mask;
        }
        return 0;
    }

    /** Stores {@code s} (not 0) for the key; returns whether the key is new. */
    boolean put(long[] k, byte s) {
        if (s == 0) {
            throw new IllegalArgumentException("status 0 means absent");
        }
        int i = slot(k);
        while (status[i] != 0) {
            if (hi[i] == k[0] && lo[i] == k[1]) {
                status[i] = s;
                return false;
            }
            i = (i + 1) & mask;
        }
        hi[i] = k[0];
        lo[i] = k[1];
        status[i] = s;
        size++;
        if (size > (mask + 1) * MAX_LOAD) {
            grow();
        }
        return true;
    }

    /** Removes the key (a tombstone on the results topic); backward-shift deletion keeps probes short. */
    boolean remove(long[] k) {
        int i = slot(k);
        while (status[i] != 0) {
            if (hi[i] == k[0] && lo[i] == k[1]) {
                shiftBack(i);
                size--;
                return true;
            }
            i = (i + 1) & mask;
        }
        return false;
    }

    private void shiftBack(int gap) {
        int i = gap;
        while (true) {
            i = (i + 1) & mask;
            if (status[i] == 0) {
                break;
            }
            int home = home(hi[i]);
            // the entry at i may move into the gap only if its home is not cyclically in (gap, i]
            boolean stays = gap <= i ? (gap < home && home <= i) : (gap < home || home <= i);
            if (!stays) {
                hi[gap] = hi[i];
                lo[gap] = lo[i];
                status[gap] = status[i];
                gap = i;
            }
        }
        status[gap] = 0;
        hi[gap] = 0;
        lo[gap] = 0;
    }

    private void grow() {
        long[] oh = hi;
        long[] ol = lo;
        byte[] os = status;
        allocate(os.length * 2);
        for (int j = 0; j < os.length; j++) {
            if (os[j] != 0) {
                int i = home(oh[j]);
                while (status[i] != 0) {
                    i = (i + 1) & mask;
                }
                hi[i] = oh[j];
                lo[i] = ol[j];
                status[i] = os[j];
            }
        }
    }

    private int slot(long[] k) {
        return home(k[0]);
    }

    private int home(long h) {
        // SHA-256 bits are uniform: the low bits are a fine slot number
        return (int) h & mask;
    }
}
