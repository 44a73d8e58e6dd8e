#include "tests/fuzz/asterisk_conf_grammar.h"

#include <cstdio>
#include <string>

namespace pbx::conf_grammar {
namespace {

// isspace() in the C locale, which is what Asterisk's ast_strip() uses.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::string_view Strip(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

class Parser {
 public:
  ParsedConf Run(std::string_view text) {
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      ++line_;
      Line(text.substr(start, end - start));
      start = end + 1;
    }
    if (depth_ > 0) {
      Report(result_.block_comment_lines.back(), "unterminated block comment");
    }
    return std::move(result_);
  }

 private:
  void Report(int line, std::string message) {
    result_.problems.push_back({line, std::move(message)});
  }

  // Removes comments the way Asterisk's config_text_file_load() does and
  // processes what remains.
  void Line(std::string_view raw) {
    for (unsigned char c : raw) {
      if ((c < 0x20 && c != '\t') || c == 0x7F) {
        Report(line_, "control character in line");
        break;
      }
    }
    std::string line(raw);
    std::string kept;
    size_t scan = 0;  // Asterisk's new_buf
    size_t keep_from = depth_ == 0 ? 0 : std::string::npos;
    while (true) {
      const size_t p = line.find(';', scan);
      if (p == std::string::npos) break;
      if (p > scan && line[p - 1] == '\\') {
        line.erase(p - 1, 1);  // "\;" is a literal ';'
        scan = p;
        continue;
      }
      if (p + 2 < line.size() && line[p + 1] == '-' && line[p + 2] == '-' &&
          (p + 3 >= line.size() || line[p + 3] != '-')) {
        if (depth_ == 0) {
          kept += line.substr(keep_from, p - keep_from);
          keep_from = std::string::npos;
        }
        ++depth_;
        result_.block_comment_lines.push_back(line_);
        scan = p + 3;
        continue;
      }
      if (p >= scan + 2 && line[p - 1] == '-' && line[p - 2] == '-') {
        if (depth_ == 0) {
          // Asterisk decrements its nesting count below zero here and then
          // treats every later line as commented out.
          Report(line_, "\"--;\" outside a block comment");
          kept += line.substr(keep_from, p - 2 - keep_from);
          keep_from = std::string::npos;
          break;
        }
        --depth_;
        scan = p + 1;
        if (depth_ == 0) keep_from = scan;
        continue;
      }
      if (depth_ == 0) {  // a line comment: the rest of the line goes
        kept += line.substr(keep_from, p - keep_from);
        keep_from = std::string::npos;
        break;
      }
      scan = p + 1;
    }
    if (keep_from != std::string::npos) kept += line.substr(keep_from);
    const std::string_view text = Strip(kept);
    if (text.empty()) return;
    if (text.front() == '[') {
      SectionLine(text);
    } else if (text.front() == '#') {
      DirectiveLine(text);
    } else {
      EntryLine(text);
    }
  }

  void SectionLine(std::string_view text) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      Report(line_, "no closing ']'");
      current_ = kNone;
      return;
    }
    Section section;
    section.line = line_;
    section.name = std::string(text.substr(1, close - 1));
    if (section.name.empty()) Report(line_, "empty section name");
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() == '(') {
      const size_t paren = rest.find(')');
      if (paren == std::string_view::npos) {
        Report(line_, "no closing ')'");
        current_ = kNone;
        return;
      }
      section.options = std::string(rest.substr(1, paren - 1));
      rest.remove_prefix(paren + 1);
    }
    if (!rest.empty()) {
      Report(line_, "text after the section header: " + Printable(rest));
    }
    result_.sections.push_back(std::move(section));
    current_ = result_.sections.size() - 1;
  }

  void DirectiveLine(std::string_view text) {
    text.remove_prefix(1);
    size_t end = 0;
    while (end < text.size() && static_cast<unsigned char>(text[end]) > 32) ++end;
    Directive directive;
    directive.line = line_;
    directive.name = std::string(text.substr(0, end));
    directive.argument = std::string(Strip(text.substr(end)));
    if (!EqualsIgnoreCase(directive.name, "include") &&
        !EqualsIgnoreCase(directive.name, "tryinclude") &&
        !EqualsIgnoreCase(directive.name, "exec")) {
      Report(line_, "unknown directive #" + Printable(directive.name));
    }
    if (directive.argument.empty()) {
      Report(line_, "directive #" + Printable(directive.name) + " without an argument");
    }
    result_.directives.push_back(std::move(directive));
  }

  void EntryLine(std::string_view text) {
    if (current_ == kNone) {
      Report(line_, "entry outside any section: " + Printable(text));
      return;
    }
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos) {
      Report(line_, "no '=' in line: " + Printable(text));
      return;
    }
    Entry entry;
    entry.line = line_;
    std::string_view key = text.substr(0, eq);
    std::string_view value = text.substr(eq + 1);
    if (eq > 0 && text[eq - 1] == '+') {
      entry.op = Operator::kAppend;
      key.remove_suffix(1);
    } else if (!value.empty() && value.front() == '>') {
      entry.op = Operator::kObject;
      value.remove_prefix(1);
    }
    entry.key = std::string(Strip(key));
    entry.value = std::string(Strip(value));
    if (entry.key.empty()) Report(line_, "entry without a key");
    result_.sections[current_].entries.push_back(std::move(entry));
  }

  static constexpr size_t kNone = static_cast<size_t>(-1);

  ParsedConf result_;
  size_t current_ = kNone;  // index into result_.sections of the open section
  int line_ = 0;
  int depth_ = 0;  // block comment nesting
};

}  // namespace

std::vector<size_t> ParsedConf::TemplatedSections() const {
  std::vector<size_t> indices;
  for (size_t i = 0; i < sections.size(); ++i) {
    if (sections[i].options.has_value()) indices.push_back(i);
  }
  return indices;
}

bool ParsedConf::IsPlain() const {
  return directives.empty() && TemplatedSections().empty() &&
         block_comment_lines.empty() && problems.empty();
}

ParsedConf ParseAsteriskConf(std::string_view text) {
  Parser parser;
  return parser.Run(text);
}

const char* OperatorText(Operator op) {
  switch (op) {
    case Operator::kAssign:
      return "=";
    case Operator::kObject:
      return "=>";
    case Operator::kAppend:
      return "+=";
  }
  return "?";
}

std::string Describe(const ParsedConf& parsed) {
  std::string out;
  for (const Section& section : parsed.sections) {
    out += "line " + std::to_string(section.line) + ": [" + Printable(section.name) + "]";
    if (section.options) out += "(" + Printable(*section.options) + ")";
    out += "\n";
    for (const Entry& entry : section.entries) {
      out += "  " + Printable(entry.key) + " " + OperatorText(entry.op) + " " +
             Printable(entry.value) + "\n";
    }
  }
  for (const Directive& directive : parsed.directives) {
    out += "line " + std::to_string(directive.line) + ": directive #" +
           Printable(directive.name) + " " + Printable(directive.argument) + "\n";
  }
  for (int line : parsed.block_comment_lines) {
    out += "line " + std::to_string(line) + ": block comment\n";
  }
  for (const Problem& problem : parsed.problems) {
    out += "line " + std::to_string(problem.line) + ": " + problem.message + "\n";
  }
  return out;
}

}  // namespace pbx::conf_grammar
