// The web UI's files (collector/ui/assets), compiled into the collector: served as they are, nothing fetched elsewhere.
#pragma once

#include <string_view>

namespace credtrace::collector {

struct UiAsset {
  std::string_view name;          // file name under /ui/, e.g. "app.js"
  std::string_view content_type;  // from the file's extension
  std::string_view bytes;
};

// The asset named `name`, or nullptr.
const UiAsset* find_ui_asset(std::string_view name);

}  // namespace credtrace::collector
