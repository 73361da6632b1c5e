package dev.parley.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ModelRouterTest {

    @Test
    void aModelOfferedTwiceGoesToTheProviderBoundLastAndBackWhenItLeaves() {
        var router = new ModelRouter();
        var v1 = new ScriptedProvider("echo", ScriptedProvider.model("echo-1", "echo", 4096, 512));
        var v2 = new ScriptedProvider("echo", ScriptedProvider.model("echo-1", "echo", 4096, 512));
        router.add(v1);
        assertThat(router.resolve("echo-1").provider()).isSameAs(v1);

        router.add(v2);
        assertThat(router.resolve("echo-1").provider()).isSameAs(v2);
        assertThat(router.models()).hasSize(1);

        router.remove(v2);
        assertThat(router.resolve("echo-1").provider()).isSameAs(v1);
    }
}
