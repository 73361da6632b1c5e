package dev.parley.itests.hostile.attacks;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;
import org.osgi.framework.FrameworkUtil;

/** Reaches the framework through {@code FrameworkUtil} and uninstalls every other bundle when activated. */
public class BundleUninstaller implements Runnable {

    public void activate() throws BundleException {
        Bundle self = FrameworkUtil.getBundle(BundleUninstaller.class);
        for (Bundle b : self.getBundleContext().getBundles()) {
            if (b != self) {
                b.uninstall();
            }
        }
    }

    @Override
    public void run() {
    }
}
