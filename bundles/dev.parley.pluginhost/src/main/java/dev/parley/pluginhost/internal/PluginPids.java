package dev.parley.pluginhost.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * The configuration PIDs a plugin's components read, from its jar: each Declarative Services component's
 * {@code configuration-pid} (its name when it has none; none when its {@code configuration-policy} is
 * {@code ignore}) and each PID and factory PID its Metatype designates. The server carries the configurations of these
 * PIDs (and the factory configurations of them) to the plugin's host (ADR 31).
 */
final class PluginPids {
    /** Most PIDs one plugin may name; a jar naming more is not read further. */
    static final int MAX = 256;

    private PluginPids() {
    }

    static Set<String> of(Path jar) throws IOException {
        Set<String> pids = new TreeSet<>();
        try (JarFile file = new JarFile(jar.toFile())) {
            String components = file.getManifest() == null ? null
                    : file.getManifest().getMainAttributes().getValue("Service-Component");
            if (components != null) {
                for (String path : components.split(",")) {
                    String p = path.strip();
                    if (p.contains("*")) {
                        String prefix = p.substring(0, p.lastIndexOf('/') + 1);
                        file.stream().filter(e -> e.getName().startsWith(prefix) && e.getName().endsWith(".xml")
                                && e.getName().indexOf('/', prefix.length()) < 0).forEach(e -> read(file, e, pids));
                    } else if (!p.isEmpty() && file.getJarEntry(p) != null) {
                        read(file, file.getJarEntry(p), pids);
                    }
                }
            }
            file.stream().filter(e -> e.getName().startsWith("OSGI-INF/metatype/") && e.getName().endsWith(".xml"))
                    .forEach(e -> read(file, e, pids));
        }
        return pids;
    }

    private static void read(JarFile file, JarEntry entry, Set<String> pids) {
        Document doc;
        try (InputStream in = file.getInputStream(entry)) {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setExpandEntityReferences(false);
            var builder = f.newDocumentBuilder();
            builder.setErrorHandler(new org.xml.sax.helpers.DefaultHandler()); // fails, without printing to stderr
            doc = builder.parse(in);
        } catch (IOException | ParserConfigurationException | SAXException e) {
            return; // not readable here; the plugin's own framework says why, if it matters
        }
        NodeList all = doc.getElementsByTagNameNS("*", "*");
        for (int i = 0; i < all.getLength() && pids.size() < MAX; i++) {
            Element el = (Element) all.item(i);
            String local = el.getLocalName() == null ? el.getTagName() : el.getLocalName();
            if (local.equals("component")) {
                if ("ignore".equals(el.getAttribute("configuration-policy"))) {
                    continue;
                }
                String name = el.getAttribute("name");
                String configured = el.getAttribute("configuration-pid");
                if (configured.isBlank()) {
                    add(pids, name);
                } else {
                    for (String pid : configured.strip().split("\\s+")) {
                        add(pids, pid.equals("$") ? name : pid);
                    }
                }
            } else if (local.equals("Designate")) {
                add(pids, el.getAttribute("pid"));
                add(pids, el.getAttribute("factoryPid"));
            }
        }
    }

    private static void add(Set<String> pids, String pid) {
        if (pid != null && !pid.isBlank() && pids.size() < MAX) {
            pids.add(pid.strip());
        }
    }
}
