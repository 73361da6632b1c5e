package dev.parley.itests.hostile.attacks;

import java.lang.reflect.Field;

/** Opens a private field of core's router by reflection when activated. */
public class CoreReflection implements Runnable {
    private volatile Object guard;

    public void activate() throws ReflectiveOperationException {
        // The name is put together at run time, as an attacker would, so no constant names the class.
        Class<?> router = Class.forName(String.join(".", "dev", "parley", "core", "internal", "ModelRouter"));
        Field field = router.getDeclaredField("guard");
        field.setAccessible(true);
        guard = field;
    }

    @Override
    public void run() {
        System.out.println(guard);
    }
}
