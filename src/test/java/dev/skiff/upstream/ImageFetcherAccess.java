package dev.skiff.upstream;

import java.net.InetAddress;

/** Test access to the fetcher's address rule. */
public final class ImageFetcherAccess {
    private ImageFetcherAccess() {}

    public static boolean isInternal(InetAddress a) {
        return ImageFetcher.isInternal(a);
    }
}
