package io.guestflow.cli;

import io.guestflow.config.GuestflowConfig;
import io.guestflow.settings.Configuration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code guestflow config}: the configuration in force, or the documents written from the declarations. */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = {"Print the configuration in force: every setting's value and where it came from (default,",
            "file, environment variable, command line), secrets masked. Unknown keys and bad values are errors,",
            "as for every command.",
            "--reference prints config/application.properties and --markdown docs/configuration.md, both written",
            "from the settings' declarations."})
public final class ConfigCommand implements Callable<Integer> {
    @Mixin
    EngineOptions options = new EngineOptions();

    @Option(names = "--reference", description = "Every setting with its default and meaning, as a properties file.")
    boolean reference;

    @Option(names = "--markdown", description = "The settings tables of docs/configuration.md.")
    boolean markdown;

    @Override
    public Integer call() {
        if (reference) {
            System.out.print(GuestflowConfig.CATALOG.reference());
            return ExitCodes.OK;
        }
        if (markdown) {
            System.out.print(GuestflowConfig.markdown());
            return ExitCodes.OK;
        }
        GuestflowConfig.Located at = GuestflowConfig.locate(options.config, System.getenv(), GuestflowConfig.DEFAULT_FILE);
        Configuration c = options.configuration();
        System.out.println("# configuration file: " + (at.file() == null ? at.how() : at.file() + " (" + at.how() + ")"));
        c.warnings().forEach(w -> System.out.println("# warning: " + w));
        System.out.print(c.describe());
        return ExitCodes.OK;
    }
}
