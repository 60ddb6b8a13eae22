package io.guestflow.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.pool.GuestEvent;
import io.guestflow.processors.inspect.InspectJobOperation;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.inspect.InspectionXml;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code guestflow inspect}: one local inspection, no Kafka. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Inspect the disks of ONE guest and print what was found (JSON, or virt-inspector XML).",
            "Disks are attached read-only; images are checked with qemu-img before launch."})
public final class InspectCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(InspectCommand.class);

    @Spec
    CommandSpec spec;

    @Mixin
    GuestflowCli.Common common = new GuestflowCli.Common();

    @Mixin
    JobOptions jobOptions = new JobOptions(1800);

    @Mixin
    KeyOptions keyOptions = new KeyOptions();

    @Option(names = "--xml", description = "Print virt-inspector compatible XML instead of JSON.")
    boolean xml;

    @Option(names = "--no-applications", description = "Skip the list of installed applications (faster).")
    boolean noApplications;

    @Parameters(arity = "1..*", paramLabel = "DISK", description = "Image path or URI (file, nbd, http(s), ssh).")
    List<String> disks;

    @Override
    public Integer call() throws Exception {
        ObjectNode options = LocalJob.options().put("applications", !noApplications);
        InspectJobOperation op = new InspectJobOperation();
        InspectionReport report = (InspectionReport) LocalJob.run(common, op,
                keyOptions.attach(jobOptions.job(op.type(), disks, null, options)), keyOptions);
        java.io.PrintWriter out = spec.commandLine().getOut();
        if (xml) {
            out.print(InspectionXml.render(report));
        } else {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
        }
        out.flush();
        return ExitCodes.OK;
    }

    static void logEvent(GuestEvent e) {
        if (e.kind() == GuestEvent.Kind.WARNING) {
            LOG.warn("libguestfs: {}", io.guestflow.pool.Secrets.redact(e.message()));
        } else if (LOG.isDebugEnabled() && e.kind() != GuestEvent.Kind.PROGRESS) {
            LOG.debug("libguestfs {}: {}", e.kind(), io.guestflow.pool.Secrets.redact(e.message()));
        }
    }

}
