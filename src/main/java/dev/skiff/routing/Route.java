package dev.skiff.routing;

import dev.skiff.provider.Provider;

/** Where a request goes: the provider, and the model name that provider knows it by. */
public record Route(Provider provider, String upstreamModel) {}
