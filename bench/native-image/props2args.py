# Translates the Args of META-INF/native-image/**/native-image.properties in the given jars into
# options of the builder (NativeImageGeneratorRunner), as the native-image driver would.
import sys, zipfile, shlex
out = []
for jar in sys.argv[1:]:
    with zipfile.ZipFile(jar) as z:
        for n in z.namelist():
            if not (n.startswith('META-INF/native-image/') and n.endswith('native-image.properties')):
                continue
            text = z.read(n).decode().replace('\\\n', ' ')
            for line in text.splitlines():
                line = line.strip()
                if line.startswith('#') or not line.startswith('Args'):
                    continue
                for a in shlex.split(line.split('=', 1)[1]):
                    if a.startswith('--initialize-at-build-time='):
                        out += ['-H:ClassInitialization=' + c + ':build_time' for c in a.split('=', 1)[1].split(',')]
                    elif a.startswith('--initialize-at-run-time='):
                        out += ['-H:ClassInitialization=' + c + ':run_time' for c in a.split('=', 1)[1].split(',')]
                    elif a.startswith('--features='):
                        out.append('-H:Features=' + a.split('=', 1)[1])
                    elif a.startswith('--enable-url-protocols='):
                        out.append('-H:EnableURLProtocols=' + a.split('=', 1)[1])
                    elif a.startswith('-H:'):
                        out.append(a)
                    else:
                        sys.stderr.write('untranslated %s in %s!%s\n' % (a, jar, n))
print('\n'.join(out))
