"""Supply-demand matching (常态化供需对接): needs, ranked matches with reasons, engagements to outcome,
challenges (发榜/揭榜) and the module menu (社区食堂)."""
