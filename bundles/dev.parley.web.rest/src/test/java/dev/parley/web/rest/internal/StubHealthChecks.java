package dev.parley.web.rest.internal;

import java.lang.reflect.Proxy;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.apache.felix.hc.api.execution.HealthCheckExecutionOptions;
import org.apache.felix.hc.api.execution.HealthCheckExecutionResult;
import org.apache.felix.hc.api.execution.HealthCheckExecutor;
import org.apache.felix.hc.api.execution.HealthCheckMetadata;
import org.apache.felix.hc.api.execution.HealthCheckSelector;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

/** A HealthCheckExecutor with canned results; records the selectors it was asked for. */
final class StubHealthChecks implements HealthCheckExecutor {
    volatile List<HealthCheckExecutionResult> results = List.of();
    final List<HealthCheckSelector> selectors = new CopyOnWriteArrayList<>();

    @Override
    public List<HealthCheckExecutionResult> execute(HealthCheckSelector selector) {
        selectors.add(selector);
        return results;
    }

    @Override
    public List<HealthCheckExecutionResult> execute(HealthCheckSelector selector, HealthCheckExecutionOptions options) {
        return execute(selector);
    }

    static HealthCheckExecutionResult result(String name, Result.Status status, String message) {
        HealthCheckMetadata metadata = new HealthCheckMetadata(reference(Map.of(HealthCheck.NAME, name,
                HealthCheck.TAGS, new String[] {"ready"}, Constants.SERVICE_ID, 1L)));
        Result result = new Result(status, message);
        return new HealthCheckExecutionResult() {
            @Override
            public Result getHealthCheckResult() {
                return result;
            }

            @Override
            public long getElapsedTimeInMs() {
                return 1;
            }

            @Override
            public Date getFinishedAt() {
                return new Date();
            }

            @Override
            public boolean hasTimedOut() {
                return false;
            }

            @Override
            public HealthCheckMetadata getHealthCheckMetadata() {
                return metadata;
            }
        };
    }

    @SuppressWarnings("rawtypes")
    private static ServiceReference reference(Map<String, Object> properties) {
        return (ServiceReference) Proxy.newProxyInstance(StubHealthChecks.class.getClassLoader(),
                new Class<?>[] {ServiceReference.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getProperty" -> properties.get((String) args[0]);
                    case "getPropertyKeys" -> properties.keySet().toArray(new String[0]);
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "ServiceReference" + properties;
                    default -> null;
                });
    }
}
