"""Method building blocks, apart from the harness core: the projection trainer most learned methods share
(``projection``), the classic semantic-embedding baselines' class vectors and solvers (``semantic``), and
ER's network and losses (``er``). Method plugins under ``methods/`` compose them; nothing in the harness's
pipeline (features -> fold -> fit -> scores -> metrics -> record -> table) imports them."""
