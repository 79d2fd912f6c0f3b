#pragma once
// The web console's files (web/), embedded in the binary at build time by
// cmake/EmbedWebAssets.cmake (ADR 0007), so `soundstar serve` serves them with nothing on disk.
#include <span>
#include <string_view>

namespace soundstar::server {

/// One embedded file: its URL path ("/index.html"), Content-Type, strong ETag (quoted) and bytes.
struct WebAsset {
    std::string_view path, contentType, etag, body;
};

/// Every embedded file [any].
std::span<const WebAsset> webAssets();
/// The file served at `path` ("/" is "/index.html"); null when there is none [any].
const WebAsset* findWebAsset(std::string_view path);

}  // namespace soundstar::server
