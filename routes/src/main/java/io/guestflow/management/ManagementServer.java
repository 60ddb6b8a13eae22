package io.guestflow.management;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServer;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServerConfiguration;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;
import org.apache.camel.health.HealthCheckRegistry;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.apache.camel.impl.health.DefaultHealthCheckRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The management endpoint of {@code bin/guestflow run}, made of Camel's own
 * parts: a CamelContext of its own (up before the engine connects to Kafka,
 * down after the engine stopped) whose routes consume
 * {@code platform-http} on a Vert.x server, whose readiness and liveness are
 * Camel health checks (camel-health's registry, one {@link AbstractHealthCheck}
 * per {@link HealthChecks.Check}, invoked with {@link HealthCheckHelper}),
 * and whose metrics are Micrometer's Prometheus registry.
 *
 * <ul>
 * <li>{@code GET /health/live}: 200 while the process is worth keeping, else 503;</li>
 * <li>{@code GET /health/ready}: 200 when every readiness check is up, else 503;
 *     the JSON body lists every check with its state and message;</li>
 * <li>{@code GET /metrics}: Prometheus text format.</li>
 * </ul>
 */
public final class ManagementServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ManagementServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final CamelContext camel;
    private final Vertx vertx;
    private final VertxPlatformHttpServer server;
    private final HealthChecks checks;
    private final Set<String> registered = new HashSet<>();

    private ManagementServer(CamelContext camel, Vertx vertx, VertxPlatformHttpServer server, HealthChecks checks) {
        this.camel = camel;
        this.vertx = vertx;
        this.server = server;
        this.checks = checks;
    }

    /** Serves {@code checks} and {@code metrics} on {@code host:port}; fails when the port is taken. */
    public static ManagementServer start(String host, int port, HealthChecks checks, PrometheusMeterRegistry metrics)
            throws Exception {
        // one event loop is plenty for probes and scrapes; no file cache in the working directory
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(2)
                .setInternalBlockingPoolSize(2)
                .setFileSystemOptions(new FileSystemOptions().setFileCachingEnabled(false).setClassPathResolvingEnabled(false)));
        CamelContext camel = new DefaultCamelContext();
        camel.getCamelContextExtension().setName("guestflow-management");
        try {
            VertxPlatformHttpServerConfiguration conf = new VertxPlatformHttpServerConfiguration();
            conf.setBindHost(host);
            conf.setBindPort(port);
            VertxPlatformHttpServer server = new VertxPlatformHttpServer(conf);
            server.setVertx(vertx);
            camel.addService(server);
            HealthCheckRegistry registry = HealthCheckRegistry.get(camel);
            if (registry == null) {
                registry = new DefaultHealthCheckRegistry(camel);
                camel.getCamelContextExtension().addContextPlugin(HealthCheckRegistry.class, registry);
            }
            // every check in every answer, not only the failing ones
            registry.setExposureLevel("full");
            ManagementServer m = new ManagementServer(camel, vertx, server, checks);
            camel.addRoutes(m.routes(metrics));
            camel.start();
            LOG.info("management endpoint on http://{}:{}/ (health/live, health/ready, metrics)", host, server.getPort());
            return m;
        } catch (Exception e) {
            camel.close();
            vertx.close();
            throw new IllegalStateException("cannot serve the management endpoint on " + host + ":" + port
                    + " (guestflow.engine.management-port; 0 turns it off): " + rootMessage(e), e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    public int port() {
        return server.getPort();
    }

    private RouteBuilder routes(PrometheusMeterRegistry metrics) {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("platform-http:/health/live?httpMethodRestrict=GET").routeId("management-live")
                        .process(ex -> health(ex, false));
                from("platform-http:/health/ready?httpMethodRestrict=GET").routeId("management-ready")
                        .process(ex -> health(ex, true));
                from("platform-http:/metrics?httpMethodRestrict=GET").routeId("management-metrics")
                        .process(ex -> {
                            ex.getMessage().setHeader(Exchange.CONTENT_TYPE, PROMETHEUS_TEXT);
                            ex.getMessage().setBody(metrics.scrape());
                        });
            }
        };
    }

    /** Runs the Camel health checks of one kind and answers 200 (all up) or 503 with every check's state. */
    private void health(Exchange ex, boolean readiness) throws Exception {
        syncChecks();
        Collection<HealthCheck.Result> results = readiness ? HealthCheckHelper.invokeReadiness(camel)
                : HealthCheckHelper.invokeLiveness(camel);
        boolean up = results.stream().allMatch(r -> r.getState() == HealthCheck.State.UP);
        ObjectNode body = JSON.createObjectNode();
        body.put("status", up ? "UP" : "DOWN");
        ArrayNode list = body.putArray("checks");
        for (HealthCheck.Result r : results) {
            ObjectNode c = list.addObject();
            c.put("name", r.getCheck().getId());
            c.put("status", r.getState().name());
            r.getMessage().ifPresent(m -> c.put("message", m));
        }
        if (!up) {
            body.put("failing", String.join(", ", results.stream().filter(r -> r.getState() != HealthCheck.State.UP)
                    .map(r -> r.getCheck().getId() + ": " + r.getMessage().orElse("down")).toList()));
        }
        ex.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, up ? 200 : 503);
        ex.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        ex.getMessage().setBody(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(body) + "\n");
    }

    /** Every guestflow check becomes a Camel health check once (parts register theirs while the engine starts). */
    private synchronized void syncChecks() {
        HealthCheckRegistry registry = HealthCheckRegistry.get(camel);
        for (HealthChecks.Check c : checks.all()) {
            if (registered.add(c.name())) {
                CheckAdapter a = new CheckAdapter(c);
                a.setCamelContext(camel);
                registry.register(a);
            }
        }
    }

    /** One guestflow check as a Camel health check of its kind. */
    private static final class CheckAdapter extends AbstractHealthCheck {
        private final HealthChecks.Check check;

        CheckAdapter(HealthChecks.Check check) {
            super("guestflow", check.name());
            this.check = check;
        }

        @Override
        public boolean isReadiness() {
            return check.kind() == HealthChecks.Kind.READINESS;
        }

        @Override
        public boolean isLiveness() {
            return check.kind() == HealthChecks.Kind.LIVENESS;
        }

        @Override
        protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
            HealthChecks.Status s = check.status();
            if (s.message() != null && !s.message().isBlank()) {
                builder.message(s.message());
            }
            if (s.up()) {
                builder.up();
            } else {
                builder.down();
            }
        }
    }

    @Override
    public void close() {
        try {
            camel.close();
        } catch (Exception e) {
            LOG.debug("management endpoint: {}", e.toString());
        }
        vertx.close();
    }
}
