package dev.parley.web.rest.internal;

import com.fasterxml.jackson.jakarta.rs.json.JacksonJsonProvider;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.core.Feature;
import jakarta.ws.rs.core.FeatureContext;
import jakarta.ws.rs.core.MediaType;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ServiceScope;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsExtension;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsMediaType;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.metatype.annotations.Designate;

/**
 * JSON (Jackson), error mapping and input limits for every Parley resource, as one whiteboard extension.
 * A Feature rather than the Jackson provider itself: registering a JacksonJsonProvider subclass directly as a
 * whiteboard extension broke every request (HK2 "ServiceLocatorImpl has been shut down").
 */
@Component(service = Feature.class, scope = ServiceScope.PROTOTYPE, configurationPid = RestConfig.PID)
@Designate(ocd = RestConfig.class)
@JakartarsExtension
@JakartarsName(ParleyRestFeature.NAME)
@JakartarsMediaType({MediaType.APPLICATION_JSON, ErrorResponses.PROBLEM_JSON})
public class ParleyRestFeature implements Feature {
    static final String NAME = "parley.rest.json";
    /**
     * Jersey's ServerProperties.OUTBOUND_CONTENT_LENGTH_BUFFER, by name so the bundle imports no Jersey package.
     * Jersey buffers the first 8 KiB of every entity to compute Content-Length and ignores flush() until then,
     * which would hold back the first SSE tokens; 0 turns that off (responses go out chunked).
     */
    static final String JERSEY_CONTENT_LENGTH_BUFFER = "jersey.config.server.contentLength.buffer";

    private final RestLimits limits;
    private final long maxUploadBytes;

    @Activate
    public ParleyRestFeature(RestConfig config) {
        this(RestLimits.from(config), config.maxUploadBytes());
    }

    ParleyRestFeature(RestLimits limits, long maxUploadBytes) {
        this.limits = limits;
        this.maxUploadBytes = maxUploadBytes;
    }

    @Override
    public boolean configure(FeatureContext context) {
        context.property(JERSEY_CONTENT_LENGTH_BUFFER, 0);
        context.register(new JacksonJsonProvider(JsonMapping.newMapper()));
        context.register(new BodyLimitFilter(limits.maxBodyBytes(), maxUploadBytes), Priorities.ENTITY_CODER);
        context.register(new ErrorMappers.ParleyExceptionMapper());
        context.register(new ErrorMappers.WebApplicationExceptionMapper());
        context.register(new ErrorMappers.JsonExceptionMapper());
        context.register(new ErrorMappers.UnexpectedExceptionMapper());
        return true;
    }
}
