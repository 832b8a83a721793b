"""Study-level analysis: reads finished runs (workdirs) and draws each paper's figures."""
