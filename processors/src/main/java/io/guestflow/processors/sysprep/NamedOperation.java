package io.guestflow.processors.sysprep;

/** What every operation states about itself: its name, its one-line description, whether it runs by default. */
public abstract class NamedOperation implements SysprepOperation {
    private final String name;
    private final String description;
    private final boolean enabledByDefault;

    protected NamedOperation(String name, String description, boolean enabledByDefault) {
        this.name = name;
        this.description = description;
        this.enabledByDefault = enabledByDefault;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final String description() {
        return description;
    }

    @Override
    public final boolean enabledByDefault() {
        return enabledByDefault;
    }
}
