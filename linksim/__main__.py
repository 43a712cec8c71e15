from linksim.cli import main

raise SystemExit(main())
