package io.guestflow.pool;

/**
 * Receives a handle's libguestfs events. Called synchronously on the thread
 * that made the libguestfs call: keep it quick and never call back into the handle.
 */
@FunctionalInterface
public interface GuestEventListener {
    GuestEventListener NONE = e -> { };

    void onEvent(GuestEvent event);
}
