"""Code shared by every floor of the project that needs neither Django nor the apps."""
