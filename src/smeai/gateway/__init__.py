"""Model access (MaaS): an OpenAI-compatible gateway with per-organisation keys, metering and wallets
that 模型券 help pay, holding each call's worst-case cost before it goes upstream (issue 18)."""
