package io.guestflow.settings;

import java.util.List;

/**
 * Settings documented together (one section of {@code config/application.properties}).
 *
 * @param title    section title
 * @param intro    text before the settings (may be empty)
 * @param settings in the order documented
 * @param examples commented-out lines shown after the settings (e.g. one scan), may be empty
 */
public record SettingGroup(String title, String intro, List<Setting<?>> settings, List<String> examples) {
    public SettingGroup {
        settings = List.copyOf(settings);
        examples = List.copyOf(examples);
    }

    public SettingGroup(String title, String intro, List<Setting<?>> settings) {
        this(title, intro, settings, List.of());
    }
}
