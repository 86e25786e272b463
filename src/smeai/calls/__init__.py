"""Open calls the centre or a lead firm publishes: scenario lists (场景清单) providers answer, and
case-collection campaigns (案例征集) whose selected cases become 标杆 (issue 20)."""
