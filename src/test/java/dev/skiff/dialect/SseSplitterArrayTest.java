package dev.skiff.dialect;

/** Every case of {@link SseSplitterTest}, with chunks that fit fed through the splitter's array form. */
class SseSplitterArrayTest extends SseSplitterTest {
    SseSplitterArrayTest() {
        arrays = true;
    }
}
