# Attack: files beside ps3.py that a careless grader would run: a conftest.py and a test_*.py
# (pytest would import them), numpy.py and sitecustomize.py (an import path that includes the
# submission folder would pick them up). Each would create a marker file. None may run; the
# solution beside them scores 100.
import os
os.system("touch __MARK__-" + os.path.basename(__file__))
raise SystemExit("a shadow module ran")
