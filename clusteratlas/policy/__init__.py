"""Policy: diagnostics of a region's clusters against the APEC guideline areas and internationalization."""
