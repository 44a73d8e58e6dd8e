// Planner: the plan is rendered again only when the database's fingerprint of
// the users changed, and the caller learns which as soon as the read is done.
#include "server/apply/apply_plan.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/fake_seams.h"

namespace pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override { users_.Provision(1000, "AAAAbbbbCCCCdddd00001111"); }

  // The plan, and what on_read said.
  std::pair<std::shared_ptr<const ApplyPlan>, bool> Plan() {
    bool said_unchanged = false;
    int calls = 0;
    auto plan = planner_.Plan(nullptr, [&](std::shared_ptr<const ApplyPlan> kept) {
      ++calls;
      said_unchanged = kept != nullptr;
    });
    EXPECT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(calls, 1) << "on_read is called exactly once";
    return {plan.ok() ? *plan : nullptr, said_unchanged};
  }

  testing::FakeUserStore users_;
  ConfigPaths paths_;
  Planner planner_{users_, paths_, DefaultEndpointProfile()};
};

TEST_F(PlannerTest, KeepsThePlanWhileTheUsersDoNotChange) {
  auto [first, first_unchanged] = Plan();
  EXPECT_FALSE(first_unchanged) << "nothing was kept yet";
  auto [second, second_unchanged] = Plan();
  EXPECT_TRUE(second_unchanged);
  EXPECT_EQ(second, first) << "the same plan, not rendered again";

  users_.Provision(1001, "EEEEffffGGGGhhhh22223333");
  auto [third, third_unchanged] = Plan();
  EXPECT_FALSE(third_unchanged);
  EXPECT_NE(third->content_hash, first->content_hash);
  EXPECT_THAT(third->files[0].content, HasSubstr("[1001]"));
  EXPECT_EQ(third->extensions.size(), 2u);
}

TEST_F(PlannerTest, ANewSecretIsANewPlan) {
  auto [first, unused] = Plan();
  users_.Unprovision(1000);
  users_.Provision(1000, "IIIIjjjjKKKKllll44445555");
  auto [second, unchanged] = Plan();
  EXPECT_FALSE(unchanged);
  EXPECT_THAT(second->files[0].content, HasSubstr("password=IIIIjjjjKKKKllll44445555"));
}

TEST_F(PlannerTest, MarksReadAndRenderAndReportsAFailedReadOnce) {
  std::vector<ApplyPhase> phases;
  PhaseClock clock(phases);
  ASSERT_TRUE(planner_.Plan(&clock).ok());
  std::vector<std::string> names;
  for (const ApplyPhase& phase : phases) names.push_back(phase.name);
  EXPECT_THAT(names, ElementsAre("read", "render"));

  users_.read_failure = absl::UnavailableError("database unavailable");
  int calls = 0;
  auto failed = planner_.Plan(nullptr, [&](std::shared_ptr<const ApplyPlan> kept) {
    ++calls;
    EXPECT_EQ(kept, nullptr);
  });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failed.status().message(), HasSubstr("cannot read the users"));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace pbx
