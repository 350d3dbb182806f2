// Public API of placeholder recognition: values that stand for a secret but are not one.
#pragma once

#include <string_view>

namespace credtrace::secrets {

// True for empty/whitespace, variable references (${VAR}, ${VAR:-x}, ${env:VAR}, ${input:id}, $VAR,
// {{ var }}, <your-token>), runs of x/X/* (4+), typed prefixes followed only by x/X/*, values of one
// repeated character, trailing "..."/"…" elisions, and filler words (changeme, your-api-key,
// your_token_here, REPLACE_ME, TODO, placeholder, dummy, null, none, undefined, true, false, …).
bool is_placeholder(std::string_view value);

}  // namespace credtrace::secrets
