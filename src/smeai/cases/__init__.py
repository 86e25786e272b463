"""Case library (案例库): cases submitted, reviewed and published, searched by industry and scenario."""
