package io.guestflow.processors.journal;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.XAttr;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * The entries of the journal directory of a mounted guest, in journal order,
 * read one at a time through the libguestfs journal API. Entries outside a
 * time window are passed over without reading their fields (one call less
 * each); {@link #scanned()} counts them all.
 */
public final class GuestJournal implements Iterator<JournalEntry>, AutoCloseable {
    private final GuestFS g;
    private final JournalFilter window;
    private JournalEntry next;
    private boolean done;
    private long scanned;

    private GuestJournal(GuestFS g, JournalFilter window) {
        this.g = g;
        this.window = window;
    }

    /** Opens {@code dir} (with its machine-id subdirectories); {@code window} may be null. */
    public static GuestJournal open(GuestFS g, String dir, JournalFilter window) throws LibGuestFSException {
        g.journal_open(dir);
        return new GuestJournal(g, window);
    }

    @Override
    public boolean hasNext() {
        if (next == null && !done) {
            try {
                next = read();
            } catch (LibGuestFSException e) {
                throw new IllegalStateException("reading the guest's journal: " + e.getMessage(), e);
            }
            done = next == null;
        }
        return next != null;
    }

    @Override
    public JournalEntry next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        JournalEntry e = next;
        next = null;
        return e;
    }

    private JournalEntry read() throws LibGuestFSException {
        while (g.journal_next()) {
            scanned++;
            long usec = g.journal_get_realtime_usec();
            if (window != null && window.rejectsByTime(usec)) {
                continue;
            }
            XAttr[] data = g.journal_get();
            List<Map.Entry<String, String>> pairs = new ArrayList<>(data.length);
            for (XAttr x : data) {
                pairs.add(new AbstractMap.SimpleImmutableEntry<>(x.attrname, x.attrval));
            }
            return JournalEntry.of(usec, pairs);
        }
        return null;
    }

    /** Entries read so far, those passed over included. */
    public long scanned() {
        return scanned;
    }

    @Override
    public void close() throws LibGuestFSException {
        g.journal_close();
    }
}
