#ifndef PBX_SERVER_CORE_CONFIG_DIFF_H_
#define PBX_SERVER_CORE_CONFIG_DIFF_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/core/asterisk_config.h"

namespace pbx {

// One extension's part of the two generated files: the option lines of its
// endpoint, auth and AOR sections and its dialplan lines, whitespace and
// comments stripped, in file order.
struct ExtensionConfig {
  std::vector<std::string> endpoint;
  std::vector<std::string> auth;
  std::vector<std::string> aor;
  std::vector<std::string> dialplan;
};

// What a pjsip file and a dialplan file hold for the portal's extensions
// (1000-1999). Parsed tolerantly, as the files on a host may have been edited
// by hand: anything unrecognised is skipped, never an error.
struct ConfigContents {
  std::map<int, ExtensionConfig> extensions;
  // The object ids the files define, sorted, as Asterisk would list them
  // once it loaded them (only those in the portal's range).
  ExpectedObjects objects;
};
ConfigContents ParseConfigFiles(absl::string_view pjsip, absl::string_view dialplan);

// What changes for one extension, as a person reads it: "password changed",
// "auth changed", "endpoint options changed", "aor options changed",
// "dialplan changed". Never a secret.
struct ExtensionChange {
  int number = 0;
  std::vector<std::string> aspects;
};

// What replacing `have` with `want` does to the extensions, each list in
// ascending order.
struct ConfigDiff {
  std::vector<int> added;
  std::vector<int> removed;
  std::vector<ExtensionChange> changed;
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};
ConfigDiff DiffConfigs(const ConfigContents& want, const ConfigContents& have);

// Where every portal extension's lines sit in a pair of files, as the parser
// assigns them: a pjsip section's lines go to the extension its name names
// ([N] or [N-auth]), a dialplan line to the extension its `exten =>` opened in
// [synergy-internal]; lines of other sections, and before any, to none.
// Positions, not copies: it is used with the texts it was cut from, and stays
// valid when they move.
class ExtensionLines {
 public:
  ExtensionLines(absl::string_view pjsip, absl::string_view dialplan);

 private:
  friend class CutSide;
  struct Piece {
    size_t offset;
    size_t size;
  };
  // Nearly always one piece per extension and file: its lines sit together.
  using Pieces = std::vector<Piece>;

  // Appends `line`, a slice of `text`, merging it with the piece it follows.
  static void Add(Pieces& pieces, absl::string_view text, absl::string_view line);
  void CutPjsip(absl::string_view pjsip);
  void CutDialplan(absl::string_view dialplan);

  std::vector<Pieces> pjsip_;     // by number - kFirstExtension
  std::vector<Pieces> dialplan_;
};

// The same as DiffConfigs(ParseConfigFiles(want...), ParseConfigFiles(have...)),
// for Preview: each file is cut into every extension's lines, and only an
// extension whose lines differ byte for byte is parsed, so comparing two
// configurations of 1000 users that differ in one costs a scan, not a parse.
ConfigDiff DiffConfigTexts(absl::string_view want_pjsip, absl::string_view want_dialplan,
                           absl::string_view have_pjsip, absl::string_view have_dialplan);
// The same, with the want side cut already (`want_lines` cut from exactly
// `want_pjsip` and `want_dialplan`): a kept plan is cut once, not per Preview.
ConfigDiff DiffConfigTexts(const ExtensionLines& want_lines, absl::string_view want_pjsip,
                           absl::string_view want_dialplan, absl::string_view have_pjsip,
                           absl::string_view have_dialplan);

}  // namespace pbx

#endif  // PBX_SERVER_CORE_CONFIG_DIFF_H_
