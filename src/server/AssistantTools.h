#pragma once
// Which operations the assistant offers an LLM for one request [pure; control]. Offering all of
// them (70-odd tools, about 15k tokens) overflows a small local model's context, so a request is
// offered a few core operations plus the ones whose names, groups and summaries share words with
// it, or exactly the operations and groups the caller names.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "server/Operations.h"

namespace soundstar::server {

/// The most operations offered to the LLM for one request, and the most names a caller may list.
inline constexpr std::size_t kMaxOfferedOps = 24;
inline constexpr std::size_t kMaxRequestedOpNames = 64;

/// Whether the assistant may call `op` at all (not itself, not the WebSocket-only or barrier ones).
bool assistantMayCall(const std::string& op);

/// The operations to offer for `text`, in table order. `requested` is null (choose by the text) or
/// an array of operation or group names (as the caller's `ops` argument); each must name an
/// operation the assistant may call or a group, else std::invalid_argument says which name and
/// lists the groups. At most kMaxOfferedOps either way.
std::vector<std::string> chooseAssistantOps(const OperationTable& table, std::string_view text, const nlohmann::json& requested);

}  // namespace soundstar::server
