import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Drops the local-variable tables (names and generic types of local variables, read only by
 * debuggers) from every class file under the given folders, in place, and the line-number tables
 * too except under the folders named after {@code --keep-lines}. bin/make-dist runs it on the
 * unpacked jars of the distribution: the libraries' classes lose both, as the JDK's own do in a
 * jlink runtime made with --strip-debug; Skiff's keep their line numbers, so its stack traces keep
 * pointing at source lines.
 *
 * <pre>java bin/StripLocals.java DIR... [--keep-lines DIR...]</pre>
 *
 * Method bodies are written anew, so stack maps are computed again; the class hierarchy they need
 * is read from the folders themselves and the running JDK. A class that cannot be rewritten (a type
 * it names is missing, old bytecode) is left exactly as it was, as is one that would not shrink.
 */
public final class StripLocals {
    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: java bin/StripLocals.java DIR... [--keep-lines DIR...]");
            System.exit(2);
        }
        List<Path> classes = new ArrayList<>();
        List<Boolean> keepLines = new ArrayList<>();
        List<URL> roots = new ArrayList<>();
        boolean keeping = false;
        for (String a : args) {
            if (a.equals("--keep-lines")) {
                keeping = true;
                continue;
            }
            Path dir = Path.of(a);
            roots.add(dir.toUri().toURL());
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".class") && Files.isRegularFile(f)).toList()) {
                    classes.add(f);
                    keepLines.add(keeping);
                }
            }
        }
        try (URLClassLoader loader = new URLClassLoader(roots.toArray(URL[]::new), null)) {
            var hierarchy = ClassFile.ClassHierarchyResolverOption.of(ClassHierarchyResolver.defaultResolver()
                    .orElse(ClassHierarchyResolver.ofResourceParsing(loader)));
            ClassFile withLines = ClassFile.of(ClassFile.DebugElementsOption.DROP_DEBUG, ClassFile.LineNumbersOption.PASS_LINE_NUMBERS, hierarchy);
            ClassFile withoutLines = ClassFile.of(ClassFile.DebugElementsOption.DROP_DEBUG, ClassFile.LineNumbersOption.DROP_LINE_NUMBERS, hierarchy);
            long before = 0, after = 0;
            int kept = 0;
            for (int i = 0; i < classes.size(); i++) {
                Path f = classes.get(i);
                ClassFile cf = keepLines.get(i) ? withLines : withoutLines;
                byte[] in = Files.readAllBytes(f);
                before += in.length;
                byte[] out;
                try {
                    out = cf.transformClass(cf.parse(in), ClassTransform.transformingMethodBodies(CodeTransform.ACCEPT_ALL));
                } catch (RuntimeException e) {
                    out = null;
                }
                if (out == null || out.length >= in.length) {
                    kept++;
                    after += in.length;
                    continue;
                }
                Files.write(f, out);
                after += out.length;
            }
            System.err.printf("strip-locals: %d classes, %.1f -> %.1f MB (%d left as they were)%n",
                    classes.size(), before / 1e6, after / 1e6, kept);
        }
    }
}
