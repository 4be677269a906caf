"""The competition's score, no torch: per image (metrics), over folders (folders), the submission zip."""
