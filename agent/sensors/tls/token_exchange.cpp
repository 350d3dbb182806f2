// Token exchanges to events: the request's endpoint and parameters, each presented and issued credential described
// and its raw value wiped, and the source issued tokens get.
#include "sensors/tls/token_exchange.h"

#include "common/wipe_guard.h"
#include "events/credential_facts.h"

namespace credtrace::sensors {
namespace {

using protocols::oauth::ExchangedValue;

void describe_values(std::vector<ExchangedValue>& values, const secrets::Fingerprinter& fingerprinter,
                     google::protobuf::RepeatedPtrField<credtrace::v1::ExchangedCredential>& out) {
  for (ExchangedValue& value : values) {
    common::WipeGuard forget(value.value);
    credtrace::v1::ExchangedCredential* exchanged = out.Add();
    exchanged->set_role(value.role);
    exchanged->set_token_type(value.token_type);
    if (value.expires_in) exchanged->set_expires_in(*value.expires_in);
    *exchanged->mutable_credential() =
        events::describe_credential(fingerprinter, value.value, value.type, value.prefix_len);
  }
}

void fill_endpoint(const TokenEndpoint& endpoint, credtrace::v1::Event& event) {
  auto* destination = event.mutable_destination();
  destination->set_host(endpoint.host);
  destination->set_sni(endpoint.sni);
  destination->set_ip(endpoint.ip);
  destination->set_port(endpoint.port);
  destination->set_tls(endpoint.tls);
  destination->set_address_source(endpoint.address_source);
  destination->set_host_port(endpoint.host_port);
  destination->set_host_source(endpoint.host_source);
  auto* request = event.mutable_request();
  request->set_protocol(endpoint.protocol);
  request->set_method(endpoint.method);
  request->set_path(endpoint.path);
}

}  // namespace

void TokenRequestWiper::operator()(protocols::oauth::TokenRequest* request) const {
  protocols::oauth::cleanse(*request);
  delete request;
}

void TokenResponseWiper::operator()(protocols::oauth::TokenResponse* response) const {
  protocols::oauth::cleanse(*response);
  delete response;
}

TokenRequestPtr token_request_in(const protocols::HttpRequest& request, bool h2, TokenExchangeStats& stats) {
  using Verdict = protocols::oauth::TokenRequestParse::Verdict;
  if (h2 && request.body_prefix.empty() && protocols::oauth::declares_form_body(request)) ++stats.h2_form_bodies_unread;
  protocols::oauth::TokenRequestParse parse = protocols::oauth::parse_token_request(request);
  if (parse.verdict == Verdict::kUnparsed) ++stats.requests_unparsed;
  if (parse.verdict != Verdict::kToken) {
    protocols::oauth::cleanse(parse.request);
    return nullptr;
  }
  ++stats.requests;
  return TokenRequestPtr(new protocols::oauth::TokenRequest(std::move(parse.request)));
}

std::vector<credtrace::v1::Credential> describe_exchange(ObservedTokenExchange& exchange,
                                                         const secrets::Fingerprinter& fingerprinter,
                                                         credtrace::v1::Event& event) {
  fill_endpoint(exchange.endpoint, event);
  auto* detail = event.mutable_token_exchange();
  protocols::oauth::TokenRequest& request = *exchange.request;
  detail->set_grant_type(request.grant_type);
  detail->set_client_id(request.client_id);
  for (const auto& resource : request.resource) detail->add_resource(resource);
  for (const auto& audience : request.audience) detail->add_audience(audience);
  detail->set_scope(request.scope);
  detail->set_pkce(request.pkce);
  detail->set_requested_token_type(request.requested_token_type);
  detail->set_body_truncated(request.body_truncated);
  describe_values(request.presented, fingerprinter, *detail->mutable_presented());
  std::vector<credtrace::v1::Credential> issued;
  if (exchange.response) {
    detail->set_status(exchange.response->status);
    detail->set_error(exchange.response->error);
    detail->set_answer_unparsed(exchange.response->unparsed);
    describe_values(exchange.response->issued, fingerprinter, *detail->mutable_issued());
    for (const auto& credential : detail->issued()) issued.push_back(credential.credential());
  }
  exchange.request.reset();
  exchange.response.reset();
  return issued;
}

credtrace::v1::Source token_exchange_source(const credtrace::v1::Event& event) {
  credtrace::v1::Source source;
  source.set_kind("token_exchange");
  source.set_path(event.destination().host() + event.request().path());
  source.set_key(event.token_exchange().grant_type());
  return source;
}

}  // namespace credtrace::sensors
