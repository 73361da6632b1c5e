package dev.parley.web.rest.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Limits shared by every REST component; all of them read the one PID {@value #PID}. */
@ObjectClassDefinition(name = "Parley REST",
        description = "Limits of the native REST API, the OpenAI-compatible API and the health endpoints.")
public @interface RestConfig {
    String PID = "dev.parley.web.rest";

    @AttributeDefinition(description = "Largest request body accepted, in bytes; larger bodies get 413.")
    long maxBodyBytes() default 1_048_576L;

    @AttributeDefinition(description = "Largest 'limit' a listing accepts.")
    int maxPageSize() default 100;

    @AttributeDefinition(description = "The 'limit' of a listing that names none.")
    int defaultPageSize() default 20;

    @AttributeDefinition(description = "Longest a request waits for an answer (JSON) or a stream may run (SSE), in seconds; "
            + "then the turn is cancelled and the client gets upstream-timeout.")
    int requestTimeoutSeconds() default 300;

    @AttributeDefinition(description = "Seconds between SSE keep-alive comments while no token arrives; "
            + "also how quickly a vanished client is noticed.")
    int sseHeartbeatSeconds() default 15;

    @AttributeDefinition(description = "Health checks (by name) that must be among the 'ready' results for /health/ready to be UP.")
    String[] requiredReadyChecks() default {"Parley core", "Parley store", "Parley front ends", "Parley shipped plugins"};

    @AttributeDefinition(description = "On shutdown, how long running chat requests (JSON and streams) may take to "
            + "finish, in seconds, before the front end stops; new ones are refused meanwhile.")
    int drainTimeoutSeconds() default 25;

    @AttributeDefinition(description = "Largest plugin upload (POST /api/v1/registry/plugins) accepted, in bytes.")
    long maxUploadBytes() default 67_108_864L;

    @AttributeDefinition(name = "Admin token", type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD,
            description = "Break-glass bearer token acting as an owner of the operator tenant, for when sign-in "
                    + "itself is broken (PARLEY_ADMIN_TOKEN; generated into the data directory's admin-token file "
                    + "when not set; 'disabled' turns it off).")
    String _adminToken() default "";
}
