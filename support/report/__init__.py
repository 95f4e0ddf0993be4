"""The report: how each scenario ended, the run record, the console, JUnit, Allure and the closing lines."""
