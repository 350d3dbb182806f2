// Test helper: a MessageSink that copies every JSON-RPC message it is given, its values included.
#pragma once

#include <string>
#include <vector>

#include "protocols/jsonrpc/message.h"
#include "protocols/jsonrpc/stream_parser.h"

namespace credtrace::protocols::testing {

// A message as the sink saw it, with copies of the views (valid only during the call).
struct Seen {
  JsonRpcMessage message;  // values and tools_json cleared (they would dangle)
  std::vector<std::pair<std::string, ValueOrigin>> values;
  std::string tools_json;
};

class CollectingSink final : public MessageSink {
 public:
  void on_jsonrpc(JsonRpcMessage& message) override {
    Seen seen;
    for (const JsonRpcValue& value : message.values) seen.values.emplace_back(std::string(value.text), value.origin);
    seen.tools_json.assign(message.tools_json);
    seen.message = message;
    seen.message.values.clear();
    seen.message.tools_json = {};
    messages.push_back(std::move(seen));
  }
  std::vector<Seen> messages;
};

// Every metadata text a message carries (everything but its values), for "no value leaks" checks.
inline std::vector<std::string> metadata_texts(const JsonRpcMessage& m) {
  std::vector<std::string> texts = {m.id,          m.method,         m.name,        m.request_id, m.arguments_shape,
                                    m.protocol_version, m.client_name, m.client_version, m.server_name,
                                    m.server_version};
  texts.insert(texts.end(), m.capabilities.begin(), m.capabilities.end());
  return texts;
}

}  // namespace credtrace::protocols::testing
