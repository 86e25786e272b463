"""Survey analytics and the AI-application index (问卷与指数): codebook, indicators, waves, reports."""
