package dev.parley.registry.internal;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/** The Jackson configuration of the registry's stored metadata and REST bodies. */
public final class RegistryJson {
    private RegistryJson() {
    }

    public static ObjectMapper newMapper() {
        return JsonMapper.builder()
                // Modules by hand: findAndRegisterModules() uses ServiceLoader, which sees nothing across bundles.
                .addModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .enable(SerializationFeature.INDENT_OUTPUT)
                // Stored files written by a newer registry may carry fields this one does not know.
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .build();
    }
}
