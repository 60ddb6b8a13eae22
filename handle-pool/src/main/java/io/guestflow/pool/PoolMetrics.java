package io.guestflow.pool;

/**
 * A snapshot of the pool's counters.
 *
 * @param capacity         appliances allowed at once
 * @param busy             leases held now
 * @param idle             free slots now
 * @param waiting          callers waiting for a slot
 * @param launches         successful launches
 * @param launchFailures   failed or timed-out launches
 * @param lastLaunchMillis duration of the latest successful launch
 * @param meanLaunchMillis mean duration of successful launches
 * @param kills            appliances killed by the watchdog or a shutdown
 * @param leaseTimeouts    callers that gave up waiting for a slot
 */
public record PoolMetrics(int capacity, int busy, int idle, int waiting, long launches, long launchFailures,
                          long lastLaunchMillis, long meanLaunchMillis, long kills, long leaseTimeouts) {
}
