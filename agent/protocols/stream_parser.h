// The one interface every protocol parser of a captured byte stream implements, the messages it yields, and detection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace credtrace::protocols {

struct HttpRequest;
struct HttpResponse;
struct JsonRpcMessage;
struct SseEvent;

// Receives the messages a StreamParser parses, one call per message. A message is the sink's for the call only: the
// parser wipes it (header values, bodies, the raw query) when the call returns, so a sink copies what it keeps.
// A new protocol adds one method here with an empty default (on_jsonrpc for newline-delimited JSON-RPC,
// on_sse_event for server-sent events): sinks that do not consume it need no change.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // An HTTP request (HTTP/1.1 or HTTP/2); raw_query is its query as on the wire (without '?', "" when none).
  virtual void on_request(HttpRequest& request, std::string_view raw_query) {
    (void)request;
    (void)raw_query;
  }
  // A final HTTP/1.1 response (interim 1xx responses are consumed, not yielded).
  virtual void on_response(HttpResponse& response) { (void)response; }
  // A JSON-RPC 2.0 message (protocols/jsonrpc/message.h): one line of newline-delimited JSON-RPC, or one element of
  // a batch. Its `values` and `tools_json` point into buffers wiped when the call returns.
  virtual void on_jsonrpc(JsonRpcMessage& message) { (void)message; }
  // A server-sent event (protocols/sse/sse_parser.h); its data is wiped when the call returns.
  virtual void on_sse_event(SseEvent& event) { (void)event; }

  // Streaming bodies (HTTP/1.1 responses): the header block of a final response, before its body. Returning true
  // asks for its body as it arrives (on_response_body, de-chunked, any split; end=true once at its end or when a gap
  // or the close cuts it: `cut`), before on_response yields the whole response; long-lived text/event-stream
  // answers then yield their events as they come. The bytes are the sink's only during the call.
  virtual bool on_response_head(const HttpResponse& head) {
    (void)head;
    return false;
  }
  virtual void on_response_body(std::string_view bytes, bool end, bool cut) {
    (void)bytes;
    (void)end;
    (void)cut;
  }
};

// One direction of one stream, fed in order (streams::Stream puts the captured chunks in order and reports holes).
class StreamParser {
 public:
  virtual ~StreamParser() = default;
  // Short protocol name as events carry it: "http/1.1", "h2".
  virtual std::string_view protocol() const = 0;
  // The next bytes of the direction, any split; complete messages go to sink.
  virtual void feed(std::string_view bytes, MessageSink& sink) = 0;
  // missing_bytes of the direction were never seen: the parser resynchronises, or gives up (given_up()).
  virtual void on_gap(uint64_t missing_bytes) = 0;
  // The stream ended: a message delimited by the close is yielded, any other partial message dropped.
  virtual void finish(MessageSink& sink) = 0;
  // The other direction of the connection sent a request with this method (an answer parser pairs with it: HTTP/1.1
  // responses follow requests in order). Parsers of requests ignore it.
  virtual void on_peer_request(std::string_view method) { (void)method; }
  // The parser will never yield again (HTTP/2 after an HPACK error or a gap).
  virtual bool given_up() const { return false; }
};

namespace detail {
struct RequestBatch;   // protocols/http1/request_parser.h
struct ResponseBatch;  // protocols/http1/response_parser.h
// Hands each request with its raw query to sink, then wipes them all (also when the sink throws) and empties the
// batch, keeping its storage for the next feed; one message's emptied headers and body become the thread's spares.
void yield_requests(RequestBatch& batch, MessageSink& sink);
// The same for responses.
void yield_responses(ResponseBatch& batch, MessageSink& sink);

// The calling thread's batch while the lease lasts, so parsers hand messages to sinks without allocating vectors per
// feed and without keeping storage per stream (1,000 streams hold none of it). A lease taken while the thread's batch
// is leased (a sink feeding another parser) gets a batch of its own.
template <typename Batch>
class BatchLease {
 public:
  BatchLease() {
    Slot& slot = thread_slot();
    if (!slot.leased) {
      slot.leased = true;
      batch_ = &slot.batch;
    } else {
      own_ = std::make_unique<Batch>();
      batch_ = own_.get();
    }
  }
  ~BatchLease() {
    if (!own_) thread_slot().leased = false;
  }
  BatchLease(const BatchLease&) = delete;
  BatchLease& operator=(const BatchLease&) = delete;
  Batch& get() { return *batch_; }

 private:
  struct Slot {
    Batch batch;
    bool leased = false;
  };
  static Slot& thread_slot() {
    thread_local Slot slot;
    return slot;
  }
  Batch* batch_ = nullptr;
  std::unique_ptr<Batch> own_;
};
}  // namespace detail

// What protocol detection made of the first bytes of a direction.
struct Detection {
  enum class Verdict {
    kParser,       // `parser` parses the direction from its first byte
    kUnsupported,  // no parser for it: the direction is not parsed
    kNeedMore,     // the bytes so far are a prefix of more than one answer: hold them and ask again with more
  };
  Verdict verdict = Verdict::kUnsupported;
  std::unique_ptr<StreamParser> parser;
};

// Requests a client writes: HTTP/1.1 (a request line) or HTTP/2 (the connection preface). The place where the next
// client protocols are recognised.
Detection detect_client_protocol(std::string_view first_bytes);

}  // namespace credtrace::protocols
