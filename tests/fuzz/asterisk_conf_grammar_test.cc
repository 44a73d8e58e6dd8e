#include "tests/fuzz/asterisk_conf_grammar.h"

#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbx::conf_grammar {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::string ReadGolden(const std::string& name) {
  std::ifstream file(std::string(PBX_GOLDEN_DIR) + "/" + name, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::vector<std::string> ProblemLines(const ParsedConf& parsed) {
  std::vector<std::string> out;
  for (const Problem& p : parsed.problems) out.push_back(std::to_string(p.line) + ":" + p.message);
  return out;
}

TEST(AsteriskConfGrammar, BlankLinesAndCommentsOnly) {
  const ParsedConf parsed = ParseAsteriskConf("\n   \n; a comment\n\t;another\n");
  EXPECT_TRUE(parsed.IsPlain()) << Describe(parsed);
  EXPECT_THAT(parsed.sections, IsEmpty());
}

TEST(AsteriskConfGrammar, SectionsAndEntriesInOrder) {
  const ParsedConf parsed = ParseAsteriskConf(
      "[1000]\n"
      "type=endpoint\n"
      "  context = synergy-internal  \n"
      "[ctx]\n"
      "exten => 1000,1,Dial(PJSIP/1000,25)\n"
      " same => n,Hangup()\n"
      "allow += g722\n");
  ASSERT_TRUE(parsed.IsPlain()) << Describe(parsed);
  ASSERT_THAT(parsed.sections, SizeIs(2));
  const Section& first = parsed.sections[0];
  EXPECT_EQ(first.name, "1000");
  EXPECT_EQ(first.line, 1);
  EXPECT_FALSE(first.options.has_value());
  ASSERT_THAT(first.entries, SizeIs(2));
  EXPECT_EQ(first.entries[1].key, "context");
  EXPECT_EQ(first.entries[1].value, "synergy-internal");
  EXPECT_EQ(first.entries[1].op, Operator::kAssign);
  const Section& second = parsed.sections[1];
  ASSERT_THAT(second.entries, SizeIs(3));
  EXPECT_EQ(second.entries[0].key, "exten");
  EXPECT_EQ(second.entries[0].op, Operator::kObject);
  EXPECT_EQ(second.entries[0].value, "1000,1,Dial(PJSIP/1000,25)");
  EXPECT_EQ(second.entries[1].key, "same");
  EXPECT_EQ(second.entries[1].value, "n,Hangup()");
  EXPECT_EQ(second.entries[2].key, "allow");
  EXPECT_EQ(second.entries[2].op, Operator::kAppend);
  EXPECT_EQ(second.entries[2].value, "g722");
}

TEST(AsteriskConfGrammar, RepeatedSectionNamesStaySeparate) {
  const ParsedConf parsed = ParseAsteriskConf("[1000]\ntype=endpoint\n[1000]\ntype=aor\n");
  ASSERT_THAT(parsed.sections, SizeIs(2));
  EXPECT_EQ(parsed.sections[1].entries[0].value, "aor");
}

TEST(AsteriskConfGrammar, SemicolonCutsTheValueUnlessEscaped) {
  const ParsedConf parsed =
      ParseAsteriskConf("[s]\npassword=abc;def\nsecret=abc\\;def ; note\nx = a=b\n");
  ASSERT_TRUE(parsed.IsPlain()) << Describe(parsed);
  ASSERT_THAT(parsed.sections[0].entries, SizeIs(3));
  EXPECT_EQ(parsed.sections[0].entries[0].value, "abc");
  EXPECT_EQ(parsed.sections[0].entries[1].value, "abc;def");
  EXPECT_EQ(parsed.sections[0].entries[2].key, "x");
  EXPECT_EQ(parsed.sections[0].entries[2].value, "a=b");
}

TEST(AsteriskConfGrammar, TemplatesAndAdditionsAreReported) {
  const ParsedConf parsed = ParseAsteriskConf(
      "[tpl](!)\ntype=endpoint\n[1000](tpl)\n[1000](+)\npassword=evil\n[plain]\n");
  EXPECT_FALSE(parsed.IsPlain());
  EXPECT_THAT(parsed.TemplatedSections(), ElementsAre(0, 1, 2));
  EXPECT_EQ(*parsed.sections[0].options, "!");
  EXPECT_EQ(*parsed.sections[1].options, "tpl");
  EXPECT_EQ(*parsed.sections[2].options, "+");
  EXPECT_EQ(parsed.sections[2].entries[0].value, "evil");
  EXPECT_THAT(parsed.problems, IsEmpty()) << Describe(parsed);
}

TEST(AsteriskConfGrammar, DirectivesAreReported) {
  const ParsedConf parsed = ParseAsteriskConf(
      "#include \"other.conf\"\n[s]\n  #tryinclude extra/*.conf\n#exec /bin/date\n#EXEC x\n");
  ASSERT_THAT(parsed.directives, SizeIs(4));
  EXPECT_EQ(parsed.directives[0].name, "include");
  EXPECT_EQ(parsed.directives[0].argument, "\"other.conf\"");
  EXPECT_EQ(parsed.directives[1].name, "tryinclude");
  EXPECT_EQ(parsed.directives[1].line, 3);
  EXPECT_EQ(parsed.directives[2].name, "exec");
  EXPECT_THAT(parsed.problems, IsEmpty()) << Describe(parsed);
  EXPECT_FALSE(parsed.IsPlain());
}

TEST(AsteriskConfGrammar, UnknownOrEmptyDirectivesAreProblems) {
  const ParsedConf parsed = ParseAsteriskConf("#includes x\n#include\n");
  EXPECT_THAT(parsed.directives, SizeIs(2));
  EXPECT_THAT(ProblemLines(parsed),
              ElementsAre("1:unknown directive #includes",
                          "2:directive #include without an argument"));
}

TEST(AsteriskConfGrammar, MalformedLinesAreProblems) {
  const ParsedConf parsed = ParseAsteriskConf(
      "orphan=1\n"
      "[open\n"
      "[s]\n"
      "no equals sign\n"
      "=value\n"
      "[t](+\n"
      "[u] trailing\n"
      "[]\n");
  EXPECT_THAT(ProblemLines(parsed),
              ElementsAre("1:entry outside any section: orphan=1", "2:no closing ']'",
                          "4:no '=' in line: no equals sign", "5:entry without a key",
                          "6:no closing ')'", "7:text after the section header:  trailing",
                          "8:empty section name"));
}

TEST(AsteriskConfGrammar, EntriesAfterABrokenHeaderHaveNoSection) {
  const ParsedConf parsed = ParseAsteriskConf("[a]\nx=1\n[broken\ny=2\n");
  EXPECT_THAT(ProblemLines(parsed), ElementsAre("3:no closing ']'",
                                                "4:entry outside any section: y=2"));
  EXPECT_THAT(parsed.sections[0].entries, SizeIs(1));
}

TEST(AsteriskConfGrammar, BlockCommentsHideLinesAndAreReported) {
  const ParsedConf parsed = ParseAsteriskConf(
      "[s]\n"
      "a=1 ;-- starts here\n"
      "b=2\n"
      "[hidden]\n"
      "ends --; c=3\n"
      "d=4 ;-- one ;-- two --; still --; e=5\n");
  EXPECT_THAT(parsed.block_comment_lines, ElementsAre(2, 6, 6));
  ASSERT_THAT(parsed.sections, SizeIs(1)) << Describe(parsed);
  ASSERT_THAT(parsed.sections[0].entries, SizeIs(3)) << Describe(parsed);
  EXPECT_EQ(parsed.sections[0].entries[0].value, "1");
  EXPECT_EQ(parsed.sections[0].entries[1].key, "c");
  EXPECT_EQ(parsed.sections[0].entries[2].key, "d");
  EXPECT_EQ(parsed.sections[0].entries[2].value, "4  e=5");
  EXPECT_THAT(parsed.problems, IsEmpty()) << Describe(parsed);
  EXPECT_FALSE(parsed.IsPlain());
}

TEST(AsteriskConfGrammar, TripleDashIsAnOrdinaryComment) {
  const ParsedConf parsed = ParseAsteriskConf("[s]\na=1 ;--- not a block\nb=2\n");
  EXPECT_TRUE(parsed.IsPlain()) << Describe(parsed);
  EXPECT_THAT(parsed.sections[0].entries, SizeIs(2));
}

TEST(AsteriskConfGrammar, UnterminatedAndStrayBlockCommentsAreProblems) {
  EXPECT_THAT(ProblemLines(ParseAsteriskConf("[s]\n;-- open\na=1\n")),
              ElementsAre("2:unterminated block comment"));
  EXPECT_THAT(ProblemLines(ParseAsteriskConf("[s]\na=x--;\n")),
              ElementsAre("2:\"--;\" outside a block comment"));
}

TEST(AsteriskConfGrammar, ControlCharactersAreProblems) {
  const ParsedConf parsed = ParseAsteriskConf(std::string("[s]\r\na=1\nb=x\0y\n", 15));
  EXPECT_THAT(ProblemLines(parsed), ElementsAre("1:control character in line",
                                                "3:control character in line"));
}

TEST(AsteriskConfGrammar, NewlineInAValueWouldOpenASection) {
  // What a name such as "x\n[1000](+)\npassword=evil" would do if it reached a file.
  const ParsedConf parsed =
      ParseAsteriskConf("[1000]\ncallerid=x\n[1000](+)\npassword=evil\n");
  EXPECT_THAT(parsed.TemplatedSections(), ElementsAre(1));
}

TEST(AsteriskConfGrammar, LastLineWithoutNewline) {
  const ParsedConf parsed = ParseAsteriskConf("[s]\na=1");
  ASSERT_THAT(parsed.sections, SizeIs(1));
  EXPECT_EQ(parsed.sections[0].entries[0].value, "1");
}

TEST(AsteriskConfGrammar, GoldenFilesArePlain) {
  for (const char* name :
       {"three_users.generated_endpoints.conf", "three_users.generated_routing.conf",
        "no_users.generated_endpoints.conf", "no_users.generated_routing.conf"}) {
    const std::string text = ReadGolden(name);
    ASSERT_FALSE(text.empty()) << name;
    const ParsedConf parsed = ParseAsteriskConf(text);
    EXPECT_TRUE(parsed.IsPlain()) << name << "\n" << Describe(parsed);
  }
  const ParsedConf endpoints = ParseAsteriskConf(ReadGolden("three_users.generated_endpoints.conf"));
  ASSERT_THAT(endpoints.sections, SizeIs(9));
  EXPECT_EQ(endpoints.sections[1].name, "1000-auth");
  EXPECT_EQ(endpoints.sections[1].entries[3].key, "password");
  EXPECT_EQ(endpoints.sections[1].entries[3].value, "AAAAbbbbCCCCdddd00001111");
  const ParsedConf routing = ParseAsteriskConf(ReadGolden("three_users.generated_routing.conf"));
  ASSERT_THAT(routing.sections, SizeIs(1));
  EXPECT_EQ(routing.sections[0].name, "synergy-internal");
  EXPECT_THAT(routing.sections[0].entries, SizeIs(6));
  EXPECT_THAT(Describe(routing), HasSubstr("exten => 1005,1,Dial(PJSIP/1005,25)"));
}

}  // namespace
}  // namespace pbx::conf_grammar
