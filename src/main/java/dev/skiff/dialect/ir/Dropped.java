package dev.skiff.dialect.ir;

import java.util.ArrayList;
import java.util.List;

/**
 * What a translation could not express for its target. Collected while rendering and reported to the
 * client (a response header) and the log, so that a drop is never silent.
 */
public final class Dropped {
    private final List<String> fields = new ArrayList<>(0);

    public void add(String field) {
        if (!fields.contains(field)) fields.add(field);
    }

    public boolean isEmpty() {
        return fields.isEmpty();
    }

    public List<String> fields() {
        return List.copyOf(fields);
    }

    /** For the {@code x-skiff-dropped-fields} header. */
    @Override
    public String toString() {
        return String.join(", ", fields);
    }
}
