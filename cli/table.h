// Plain-text tables for the query commands: left-aligned columns sized by UTF-8 characters, control characters masked.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace credtrace::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  // Cells past the header count are dropped, missing ones are empty.
  void add_row(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  void write(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Collector data is written to a terminal: C0/C1 control characters (escape sequences) become '?'.
std::string printable(const std::string& text);

}  // namespace credtrace::cli
