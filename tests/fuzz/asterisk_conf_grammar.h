#ifndef PBX_TESTS_FUZZ_ASTERISK_CONF_GRAMMAR_H_
#define PBX_TESTS_FUZZ_ASTERISK_CONF_GRAMMAR_H_

// A checker of the line grammar of Asterisk's config files (pjsip.conf,
// extensions.conf, ...), as main/config.c reads them, used by the tests and
// fuzzers to check what the renderer writes. It is deliberately strict: what
// Asterisk would merely ignore or warn about is reported as a problem.
//
// Per line (split on '\n'), after comments are removed and the rest is
// trimmed of ASCII whitespace:
//   blank                          ignored
//   [name]                         a section
//   [name](opts)                   a section with options: "!" (template),
//                                  "+" (adds to an earlier section), or
//                                  template names to inherit from
//   #include / #tryinclude / #exec ARG   a directive
//   key = value, key => value, key += value   an entry of the current section
// Comments: an unescaped ';' starts a comment to the end of the line ("\;" is
// a literal ';'); ";--" opens and "--;" closes a block comment, which may span
// lines and nest.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pbx::conf_grammar {

enum class Operator { kAssign, kObject, kAppend };  // "=", "=>", "+="

struct Entry {
  int line = 0;  // 1-based
  std::string key;
  Operator op = Operator::kAssign;
  std::string value;
};

struct Section {
  int line = 0;
  std::string name;
  // The text between "(" and ")" right after "]", when there is one.
  std::optional<std::string> options;
  std::vector<Entry> entries;
};

struct Directive {
  int line = 0;
  std::string name;  // as written, without '#': "include", "exec", ...
  std::string argument;
};

struct Problem {
  int line = 0;
  std::string message;
};

struct ParsedConf {
  std::vector<Section> sections;  // in file order; names may repeat
  std::vector<Directive> directives;
  std::vector<int> block_comment_lines;  // where each ";--" opened
  std::vector<Problem> problems;         // malformed lines and oddities

  // Indices into `sections` of those declared with "(...)".
  std::vector<size_t> TemplatedSections() const;
  // No directive, no "(...)" section, no block comment and no problem.
  bool IsPlain() const;
};

ParsedConf ParseAsteriskConf(std::string_view text);

// A readable dump of `parsed` (sections, entries, findings) for test output.
std::string Describe(const ParsedConf& parsed);

const char* OperatorText(Operator op);

}  // namespace pbx::conf_grammar

#endif  // PBX_TESTS_FUZZ_ASTERISK_CONF_GRAMMAR_H_
