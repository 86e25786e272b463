"""smeai: the AI application enablement centre (AI 应用赋能中心) for SMEs."""

__version__ = "0.1.0"
