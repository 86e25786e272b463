"""Solution catalogue (解决方案目录): providers, offerings, the service pool, review and search."""
