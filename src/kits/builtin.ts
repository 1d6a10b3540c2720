// The built-in spaces, registered in this order (kitNames() lists them so).
import './nb201.js';
import './darts.js';
import './chain.js';
import './mobilenet.js';
import './hierarchical.js';
import './transformer.js';
