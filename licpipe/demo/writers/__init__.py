"""One writer per export format. Each takes the organisation and its activity and writes files."""
