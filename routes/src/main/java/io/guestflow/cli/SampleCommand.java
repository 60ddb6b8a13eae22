package io.guestflow.cli;

import io.guestflow.pool.HandlePool;
import io.guestflow.samples.SampleGuests;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code guestflow sample}: builds (once) the sample guest images and prints their paths. */
@Command(name = "sample", mixinStandardHelpOptions = true,
        description = {"Build the sample guest images (once; cached) and print their paths.",
            "Used by the demo; handy for trying the other commands."})
public final class SampleCommand implements Callable<Integer> {
    @Mixin
    GuestflowCli.Common common = new GuestflowCli.Common();

    @Option(names = "--dir", description = "Cache folder. Default: ~/.cache/guestflow/samples.")
    Path dir;

    @Option(names = "--fleet", paramLabel = "N",
            description = "Instead: N small guests that all differ (hostname, VG, labels, UUIDs), for fleet inspection.")
    Integer fleet;

    @Override
    public Integer call() {
        Path root = dir != null ? dir : Path.of(System.getProperty("user.home"), ".cache", "guestflow", "samples");
        Path images;
        try (HandlePool pool = new HandlePool(common.poolConfig())) {
            if (fleet != null) {
                SampleGuests.fleet(root, pool, fleet).forEach(System.out::println);
                return ExitCodes.OK;
            }
            images = SampleGuests.ensure(root, pool);
        }
        for (SampleGuests.Image i : SampleGuests.Image.values()) {
            System.out.println(images.resolve(i.fileName));
        }
        return ExitCodes.OK;
    }
}
